"""The phones that run the field app: what each last reported about its queue and storage."""
