"""Primary disclosure control: which cells are too small to publish, and how the rest are rounded.

Rounding is conventional round-half-up to a multiple of the base (12 -> 10, 12.5 would go to 15,
13 -> 15), in integers so no float ever decides a figure. A reader who knows the rules therefore
knows that a published count c stands for a whole number in [c - base//2, c + (base-1)//2] that is
at least the threshold; ``known_interval`` gives exactly that, and the audit assumes every reader
uses it.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.domain.figures.disclosure.model import Cell, CellKey, DisclosureRules, Kind, PublishedCell


def round_to_base(value: int, base: int) -> int:
    """Round half up to the nearest multiple of ``base``."""
    return (2 * value + base) // (2 * base) * base


def is_small(cell: Cell, rules: DisclosureRules) -> bool:
    """Primary suppression: fewer families than the threshold (zero included) behind the cell.

    A count of children or contacts is also suppressed when the count itself is below the
    threshold: three contacts involve at most three families, and no published count is ever
    below the threshold.
    """
    if cell.families < rules.threshold:
        return True
    return cell.kind is Kind.COUNT and cell.value < rules.threshold


def with_their_bases(suppressed: Iterable[CellKey], cells: Iterable[Cell]) -> set[CellKey]:
    """The suppressed keys plus every cell describing a suppressed families cell."""
    keys = set(suppressed)
    keys |= {cell.key for cell in cells if cell.basis is not None and cell.basis in keys}
    return keys


def publish_cell(cell: Cell, suppressed: bool, rules: DisclosureRules) -> PublishedCell:
    if suppressed:
        return PublishedCell(cell.key, cell.kind, None)
    if cell.kind is Kind.AVERAGE:
        return PublishedCell(cell.key, cell.kind, cell.value)
    return PublishedCell(cell.key, cell.kind, round_to_base(int(cell.value), rules.base))


def known_interval(cell: PublishedCell, rules: DisclosureRules) -> tuple[int, int]:
    """The whole numbers a reader knows a published count stands for."""
    value = cell.value
    if value is None or cell.kind is Kind.AVERAGE:
        raise ValueError(f"{cell.key}: only a published count has an interval")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{cell.key}: a published count is a whole number")
        value = int(value)
    if cell.exact:
        return value, value
    return max(value - rules.base // 2, rules.threshold), value + (rules.base - 1) // 2
