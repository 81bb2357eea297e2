"""QR posters (二维码海报): a printed code per grid or per place (park, market,
bus stop) that opens the resident's report page with the place pre-filled."""
