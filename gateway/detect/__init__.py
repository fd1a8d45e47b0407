"""Personal-information detection in Chinese text, on presidio-analyzer, fully offline.

analyzer.Detector finds entities in a text; scan.TextScanner masks them inside result
cells (stream.scan_cells from asyncio); discover is the `privacy-gateway discover`
command. Importing this package stays light: presidio loads with those modules.
"""
