"""Photo pipeline: verify, read EXIF, make upright derivatives without metadata, store."""
