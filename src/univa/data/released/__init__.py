"""The UniVA release's on-disk layout (MOSEI, M3ED): its pickles, read safely and cached, its text."""
