"""Grids, departments, categories, grid lookup and routing."""
