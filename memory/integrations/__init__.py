"""Adapters of memory to other frameworks and protocols; each needs its own extra, and
`import memory` imports none of them."""
