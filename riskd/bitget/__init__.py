"""The Bitget margin API v1 surface: endpoint table, signing, client, errors, clock, paging."""
