// Where the viewer finds the API. Empty = the same origin that serves the viewer (the local runner).
// scripts/deploy-viewer.sh uploads its own copy of this file with the stack's ApiUrl output.
window.VIEWER_CONFIG = { apiUrl: "" };
