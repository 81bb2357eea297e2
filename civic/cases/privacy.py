"""Personal data in what people write: a report's text may carry someone's
mobile or ID-card number. Masked wherever a case is shown to people other than
its reporter and the city's staff (the public board, followers of a case)."""
from ..phones import mask_numbers


# About 100 m: where a case is, shown to the public and to followers, without
# pointing at anyone's door.
PUBLIC_POINT_DECIMALS = 3
# Notes that answer the public: what the department, the verifier and the
# dispatcher's refusal say. Every other note (dispatch, internal remarks) stays with the staff.
PUBLIC_NOTE_ACTIONS = frozenset({"handle", "verify", "verify_fail", "reopen", "reject", "recheck_uphold",
                                 "recheck_reopen"})


def public_point(lat, lng):
    """(lat, lng) rounded as the public board shows it, or (None, None)."""
    if lat is None or lng is None:
        return None, None
    return round(lat, PUBLIC_POINT_DECIMALS), round(lng, PUBLIC_POINT_DECIMALS)


def public_note(event):
    """An event's note as the public may read it (masked), or None."""
    return scrub(event.note) if event.action in PUBLIC_NOTE_ACTIONS and event.note else None


def scrub(text):
    """Mobile, landline and ID-card numbers masked, however they were written."""
    return mask_numbers(text)
