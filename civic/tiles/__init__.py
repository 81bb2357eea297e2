"""Offline tile packs: the county's own base map, as MBTiles files under TILE_DIR.

packs.py     reading and checking an MBTiles file, adding and removing packs
plan.py      the tiles covering a worker's grids, for the phone to cache
views.py     /tiles/<pack>/<z>/<x>/<y>, /tiles/<pack>.json (TileJSON), /api/v1/tiles/plan
cli.py       flask tiles add FILE.mbtiles [--name], tiles list, tiles remove NAME
"""
