"""The loop's analytics: what the records say about the loop. Runs over time (``trends``),
what became of the proposals (``effectiveness``), what a person must look at (``alerts``),
what is worth a proposal (``opportunities``), a new proposal's proposer and resemblances
(``proposer``), all of it at a glance (``dashboard``). Pure."""
