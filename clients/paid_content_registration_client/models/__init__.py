"""Contains all the data models used in inputs/outputs"""

from .error import Error
from .grant import Grant
from .grant_outcome import GrantOutcome
from .grant_outcome_outcome import GrantOutcomeOutcome
from .premium_status import PremiumStatus
from .revoked import Revoked
from .revoked_outcome import RevokedOutcome

__all__ = (
    "Error",
    "Grant",
    "GrantOutcome",
    "GrantOutcomeOutcome",
    "PremiumStatus",
    "Revoked",
    "RevokedOutcome",
)
