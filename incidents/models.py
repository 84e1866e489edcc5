"""Models of this process arrive with its issue; the app is installed from the start."""
