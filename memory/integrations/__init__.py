"""Adapters to agent frameworks and clients (LangChain, the OpenAI Agents SDK, MCP), one module each,
with its own extra (`pip install 'memory[...]'`); `import memory` imports none of them."""
