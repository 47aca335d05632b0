"""Adapters to agent frameworks, one module each, with its own extra (`pip install 'memory[...]'`);
`import memory` imports none of them."""
