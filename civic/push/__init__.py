"""Web Push for new assignments (VAPID, aes128gcm through the `webpush` package),
sent in the background, with an SMS hook where push cannot reach.

keys.py      the VAPID key pair in the instance folder
models.py    subscriptions, preferences, the delivery log
services.py  subscribing, preferences, who is told what (notify_users), the status page
sender.py    encrypting and posting to push services, many at once
jobs.py      sending deliveries, retries, and the runners (inline, thread, RQ)
sms.py       the SMS hook
"""

