/**
 * The tag lifecycle as one table. Every allowed move is a row; any other (from, to) pair is
 * `invalid_transition`. Who may make a move:
 *
 * | from           | to             | action    | who (multi-user mode)                               | reason   |
 * |----------------|----------------|-----------|-----------------------------------------------------|----------|
 * | draft          | pending_review | submit    | the tag's owner                                      | optional |
 * | pending_review | published      | approve   | a reviewer other than the submitter                  | optional |
 * | pending_review | draft          | reject    | a reviewer other than the submitter                  | required |
 * | published      | deprecated     | deprecate | the owner or a tag manager                           | required |
 * | deprecated     | disabled       | disable   | the owner or a tag manager                           | required |
 * | disabled       | published      | reenable  | a reviewer other than the one who disabled it        | required |
 *
 * In open single-user mode (no users) there is one actor, `local`, who may make every move in the table
 * (the review rules need two people, so they are waived there); the table itself still holds.
 */
import { LassoError } from "../errors.js";
import { authorize } from "./identity.js";
import type { Principal, TagStatus } from "./types.js";

export type TransitionAction = "submit" | "approve" | "reject" | "deprecate" | "disable" | "reenable";

export interface TransitionRule {
  readonly from: TagStatus;
  readonly to: TagStatus;
  readonly action: TransitionAction;
  readonly who: "owner" | "reviewer" | "owner_or_manager";
  /** The reviewer must differ from whoever made the previous transition (the submitter / disabler). */
  readonly fourEyes: boolean;
  readonly reasonRequired: boolean;
}

export const TRANSITIONS: readonly TransitionRule[] = [
  { from: "draft", to: "pending_review", action: "submit", who: "owner", fourEyes: false, reasonRequired: false },
  { from: "pending_review", to: "published", action: "approve", who: "reviewer", fourEyes: true, reasonRequired: false },
  { from: "pending_review", to: "draft", action: "reject", who: "reviewer", fourEyes: true, reasonRequired: true },
  { from: "published", to: "deprecated", action: "deprecate", who: "owner_or_manager", fourEyes: false, reasonRequired: true },
  { from: "deprecated", to: "disabled", action: "disable", who: "owner_or_manager", fourEyes: false, reasonRequired: true },
  { from: "disabled", to: "published", action: "reenable", who: "reviewer", fourEyes: true, reasonRequired: true },
];

export function findTransition(from: TagStatus, to: TagStatus): TransitionRule | undefined {
  return TRANSITIONS.find((t) => t.from === from && t.to === to);
}

/** Statuses reachable from `from` in one move (for error messages and UIs). */
export function nextStatuses(from: TagStatus): TagStatus[] {
  return TRANSITIONS.filter((t) => t.from === from).map((t) => t.to);
}

export interface TransitionSubject {
  readonly entity: string;
  readonly name: string;
  readonly status: TagStatus;
  readonly owner: string | null;
  /** Who made the transition into the current status. */
  readonly statusChangedBy: string | null;
}

/**
 * Checks one move; returns its rule or throws `invalid_transition` (not in the table), `forbidden`
 * (wrong person) or `bad_request` (missing reason).
 */
export function checkTransition(
  tag: TransitionSubject,
  to: TagStatus,
  actor: Principal,
  reason: string,
  multiUser: boolean,
): TransitionRule {
  const rule = findTransition(tag.status, to);
  const label = `${tag.entity}.${tag.name}`;
  if (!rule) {
    const next = nextStatuses(tag.status);
    throw new LassoError(
      "invalid_transition",
      `tag ${label} is ${tag.status}; it cannot move to ${to} (allowed: ${next.length ? next.join(", ") : "none"})`,
      { from: tag.status, to, allowed: next },
    );
  }
  if (rule.reasonRequired && reason.trim() === "") {
    throw new LassoError("bad_request", `moving tag ${label} from ${rule.from} to ${rule.to} (${rule.action}) needs a reason`);
  }
  if (!multiUser) return rule;
  switch (rule.who) {
    case "owner":
      if (tag.owner === null) {
        throw new LassoError("forbidden", `tag ${label} has no owner; a tag manager must set one before it can be submitted`);
      }
      if (actor.name !== tag.owner) {
        throw new LassoError("forbidden", `only the owner of tag ${label} (${tag.owner}) may submit it for review`);
      }
      break;
    case "owner_or_manager":
      if (actor.name !== tag.owner && !authorize(actor, "manage_tags")) {
        throw new LassoError("forbidden", `${rule.action} of tag ${label} needs its owner or the manage_tags permission`);
      }
      break;
    case "reviewer":
      if (!authorize(actor, "review")) {
        throw new LassoError("forbidden", `${rule.action} of tag ${label} needs the review permission (role reviewer or admin)`);
      }
      break;
  }
  if (rule.fourEyes && tag.statusChangedBy !== null && tag.statusChangedBy === actor.name) {
    const what = rule.from === "pending_review" ? "submitted" : "disabled";
    throw new LassoError("forbidden", `${actor.name} ${what} tag ${label} and so cannot ${rule.action} it; another reviewer must`);
  }
  return rule;
}
