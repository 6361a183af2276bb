"""Titanic (RFC 9/TSP): disconnected, disk-backed request-reply on top of Majordomo."""
