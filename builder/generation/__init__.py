"""Turning prompts into projects: the answer contract, providers, streaming parser and engine."""
