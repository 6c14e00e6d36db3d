"""Devnet tooling: anvil's controls (`anvil`), the processes of a local stack (anvil, the keeper
and the API: `stack`), the market layer with test tokens and a faucet (`devnet`), and a market
maker that moves prices (`market`).

Imports run one way: `cohort.dev` uses the SDK (`cohort.vault`, `cohort.chain`, ...), the SDK
never imports `cohort.dev`, and `cohort.cli` uses both.
"""
