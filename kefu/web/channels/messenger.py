"""Webhook routes of the messenger channel (filled in by its adapter's work; see docs/social-channels.md)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
