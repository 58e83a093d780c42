"""A quarter's release of figures: drafted from the catalogue's figures for disclosure control
(``draft``), laid out as the published document (``document``), written as one CSV file
(``csv_file``), and read back across quarters as a figure's trend (``trend``)."""
