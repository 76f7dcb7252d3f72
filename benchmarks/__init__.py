"""Benchmarks: genai-cost side by side with the peer OpenAI instrumentations (``python -m benchmarks``)."""
