/** Every `/api/*` request is answered by the Echoes API; see `lib/api-proxy.ts`. */
import { proxyToApi } from "@/lib/api-proxy";

export const dynamic = "force-dynamic";

export {
  proxyToApi as GET,
  proxyToApi as HEAD,
  proxyToApi as POST,
  proxyToApi as PUT,
  proxyToApi as PATCH,
  proxyToApi as DELETE,
  proxyToApi as OPTIONS,
};
