"""Who may see what in admin: one selector module every admin page, filter and export asks.

It is its own small package because the question crosses apps: a Sales user's rows are the
meetings of their rep (scheduling), the conversations and messages behind them (chatbot), the
leads (qualification), and whether they reach marketing's reports (analytics). Putting it in
any one of those apps would make that app decide the others' visibility; here each admin only
asks, and the answer is written once. The Marketing and Sales groups it reads are defined here
too (`access.groups`). It has no models, so it is not a Django app.
"""
