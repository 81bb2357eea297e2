"""What every workflow step shares: the refusal that carries the case, the words
refusals use for statuses, and a note as it is kept."""
from ..errors import ApiError

STATUS_WORDS = {"reported": "reported", "accepted": "accepted", "rejected": "rejected",
                "dispatched": "dispatched", "acknowledged": "acknowledged", "in_progress": "in progress",
                "handled": "handled", "closed": "closed"}


class WorkflowError(ApiError):
    """A refused action on a case: the API answers it with the case as it is now."""

    def __init__(self, status, code, message, case, field=None):
        super().__init__(status, code, message, field)
        self.case_id = case.id


def clean_note(note):
    if note is None:
        return None
    note = note.strip()
    return note or None
