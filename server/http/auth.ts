/**
 * Who is asking, and may they. With no users configured the server is in open single-user mode (loopback
 * only, see commands/serve.ts) and every request acts as the implicit local admin. Once users exist,
 * requests carry `Authorization: Bearer TOKEN` (WebSocket upgrades may use `?token=` instead, since
 * browsers cannot set headers on them) and each endpoint needs an action its roles grant
 * (engine/catalog/identity.ts ROLE_ACTIONS).
 */
import { LOCAL_PRINCIPAL, ROLE_ACTIONS, authorize, type Action, type Principal, type TagCatalog } from "../../engine/catalog/index.js";
import { LassoError } from "../../engine/errors.js";

export function principalOf(catalog: TagCatalog, authorization: string | undefined): Principal {
  if (catalog.openMode()) return LOCAL_PRINCIPAL;
  if (!authorization) {
    throw new LassoError("unauthorized", "this server has users: send Authorization: Bearer TOKEN (tokens come from `lasso users add`)");
  }
  const p = catalog.authenticate(authorization);
  if (!p) throw new LassoError("unauthorized", "the bearer token is not valid (unknown, revoked or malformed)");
  return p;
}

export function requireAction(catalog: TagCatalog, authorization: string | undefined, action: Action): Principal {
  const p = principalOf(catalog, authorization);
  if (!authorize(p, action)) {
    const granting = Object.entries(ROLE_ACTIONS)
      .filter(([, actions]) => actions.includes(action))
      .map(([role]) => role);
    throw new LassoError("forbidden", `${p.name} (roles: ${p.roles.join(", ") || "none"}) may not ${action}; roles that may: ${granting.join(", ")}`);
  }
  return p;
}
