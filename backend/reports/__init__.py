"""Frozen, shareable PoC reports: snapshot, token store, HTML (en/ja) and PDF rendering (issue 5)."""
