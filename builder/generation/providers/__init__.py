"""Model providers behind one interface (`base.py`): Claude, OpenAI-compatible servers and the offline starters, each a
module of its own; `choice.py` picks one by name and settings."""
