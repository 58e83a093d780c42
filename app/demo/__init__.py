"""The demo: four member charities at real prisons, one user per role (charities), synthetic case
histories (histories draws them, records writes them), and transfers of families' cases between
charities (transfer_stories draws them, transfers takes their steps); national-scale families in
bulk (national) and the quarters the demo publishes (releases). Apart from the service: nothing
outside app.demo and app.cli.demo imports it.
"""
