"""COMPARE: baseline results against candidate results. The decision and its statistics
(``compare``, ``stats``, ``sequential``), what it says (``models``) and its Markdown report
(``report``). Pure."""
