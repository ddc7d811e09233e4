"""Async client for the Adobe Experience Platform export jobs API."""
