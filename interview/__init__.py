"""What the agent worker and the token server share: settings pieces, the dispatch-metadata
contract and the store. Each of these lives here once; neither service keeps a copy."""
