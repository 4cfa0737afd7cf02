"""Premium users: each user reads their own status; members of the admin group grant and revoke it."""
