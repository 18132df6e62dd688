import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The token server serves dist/ at `/` (same origin as the API), so asset URLs are absolute
// from the root and API calls are relative. `vite` (dev) proxies /api to a token server on :8000.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 900 },
  server: {
    proxy: { "/api": "http://127.0.0.1:8000" },
  },
});
