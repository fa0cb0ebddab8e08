"""The review an app gets before it is published: deterministic checks of what it would serve and what it depends on,
each answering in findings (builder/review/findings.py) that the publish gate and the Publish dialog read."""
