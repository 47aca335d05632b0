"""Adapters to agent frameworks, each in its own module with its own extra; `import memory` imports none."""
