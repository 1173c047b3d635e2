import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TAG_STATUSES, TRANSITIONS, type Principal, type TagCatalog, type TagStatus } from "../../engine/catalog/index.js";
import { cleanupDirs, openCatalog, snapshot, tempDir, who } from "./helpers.js";

// The cast: an owner, two reviewers, a tag manager, a viewer, an admin, and an owner who is also a reviewer.
const olivia = who("olivia", "analyst");
const rita = who("rita", "reviewer");
const ray = who("ray", "reviewer");
const tom = who("tom", "tag_admin");
const vic = who("vic", "viewer");
const ada = who("ada", "admin");
const sam = who("sam", "analyst", "reviewer");
const CAST = [olivia, rita, ray, tom, vic, ada, sam];

let dir: string;
let cat: TagCatalog;
let n = 0;

// One catalog for the file: every case works on fresh tags of its own, so cases cannot interfere.
beforeAll(() => {
  dir = tempDir();
  cat = openCatalog(dir);
  cat.addUser("ada", ["admin"], null);
  for (const p of CAST) if (p !== ada) cat.addUser(p.name, p.roles, ada);
});
afterAll(() => {
  cat.close();
  cleanupDirs();
});

/** A fresh tag owned by `owner`, brought to `status` along the allowed path. */
function tagIn(status: TagStatus, owner: Principal = olivia): string {
  const name = `t${n++}`;
  cat.registerLoadedTags("user", [{ name, type: "int" }], "test load", owner.name);
  const path: [TagStatus, Principal, string][] = [];
  if (status !== "draft") path.push(["pending_review", owner, ""]);
  if (["published", "deprecated", "disabled"].includes(status)) path.push(["published", owner === rita ? ray : rita, ""]);
  if (["deprecated", "disabled"].includes(status)) path.push(["deprecated", tom, "superseded"]);
  if (status === "disabled") path.push(["disabled", tom, "retired"]);
  for (const [to, actor, reason] of path) cat.transitionTag("user", name, to, { actor, reason });
  expect(cat.status("user", name)).toBe(status);
  return name;
}

/** The right person for each allowed move (given the tag was brought there by `tagIn`). */
const RIGHT_ACTOR: Record<string, Principal> = {
  "draft>pending_review": olivia,
  "pending_review>published": rita,
  "pending_review>draft": rita,
  "published>deprecated": tom,
  "deprecated>disabled": tom,
  "disabled>published": rita,
};

function auditCount(): number {
  return snapshot(join(dir, "catalog.db"))["audit_log"]!.length;
}

describe("lifecycle: every (from, to) pair", () => {
  const pairs = TAG_STATUSES.flatMap((from) => TAG_STATUSES.map((to) => [from, to] as const));
  it.each(pairs)("%s → %s", (from, to) => {
    const tag = tagIn(from);
    const allowed = TRANSITIONS.some((t) => t.from === from && t.to === to);
    const actor = RIGHT_ACTOR[`${from}>${to}`] ?? ada;
    const before = snapshot(join(dir, "catalog.db"));
    const attempt = () => cat.transitionTag("user", tag, to, { actor, reason: "because" });
    if (!allowed) {
      expect(attempt).toThrow(expect.objectContaining({ code: "invalid_transition" }));
      expect(snapshot(join(dir, "catalog.db"))).toEqual(before);
      expect(cat.status("user", tag)).toBe(from);
      return;
    }
    const after = attempt();
    expect(after.status).toBe(to);
    expect(after.statusChangedBy).toBe(actor.name);
    const [entry] = cat.audit({ tag, limit: 1 });
    expect(entry).toMatchObject({ actor: actor.name, fromStatus: from, toStatus: to, reason: "because", entity: "user" });
    expect(entry!.action).toBe(TRANSITIONS.find((t) => t.from === from && t.to === to)!.action);
  });
});

describe("lifecycle: who may make each move", () => {
  // [from, to, actor, expected]; the tag is owned by olivia, submitted by olivia, disabled by tom.
  type Case = [TagStatus, TagStatus, Principal, "ok" | "forbidden"];
  const cases: Case[] = [
    ["draft", "pending_review", olivia, "ok"],
    ["draft", "pending_review", rita, "forbidden"], // not the owner
    ["draft", "pending_review", tom, "forbidden"],
    ["draft", "pending_review", ada, "forbidden"], // even an admin is not the owner
    ["pending_review", "published", rita, "ok"],
    ["pending_review", "published", ada, "ok"],
    ["pending_review", "published", olivia, "forbidden"], // not a reviewer
    ["pending_review", "published", tom, "forbidden"],
    ["pending_review", "published", vic, "forbidden"],
    ["pending_review", "draft", ray, "ok"],
    ["pending_review", "draft", tom, "forbidden"],
    ["published", "deprecated", tom, "ok"],
    ["published", "deprecated", olivia, "ok"], // the owner
    ["published", "deprecated", rita, "forbidden"],
    ["published", "deprecated", vic, "forbidden"],
    ["deprecated", "disabled", tom, "ok"],
    ["deprecated", "disabled", olivia, "ok"],
    ["deprecated", "disabled", ray, "forbidden"],
    ["disabled", "published", rita, "ok"],
    ["disabled", "published", tom, "forbidden"], // the disabler, and not a reviewer
    ["disabled", "published", olivia, "forbidden"],
  ];
  it.each(cases)("%s → %s by %o: %s", (from, to, actor, expected) => {
    const tag = tagIn(from);
    const count = auditCount();
    const attempt = () => cat.transitionTag("user", tag, to, { actor, reason: "r" });
    if (expected === "ok") {
      expect(attempt().status).toBe(to);
      expect(auditCount()).toBe(count + 1);
    } else {
      expect(attempt).toThrow(expect.objectContaining({ code: "forbidden" }));
      expect(auditCount()).toBe(count);
      expect(cat.status("user", tag)).toBe(from);
    }
  });

  it("forbids self-review: the submitter cannot approve or reject, even as a reviewer", () => {
    const tag = tagIn("pending_review", sam);
    for (const to of ["published", "draft"] as const) {
      expect(() => cat.transitionTag("user", tag, to, { actor: sam, reason: "mine" })).toThrow(
        expect.objectContaining({ code: "forbidden", message: expect.stringContaining("another reviewer") }),
      );
    }
    expect(cat.transitionTag("user", tag, "published", { actor: rita }).status).toBe("published");
  });

  it("forbids re-enabling by whoever disabled it", () => {
    const tag = tagIn("deprecated");
    cat.transitionTag("user", tag, "disabled", { actor: ada, reason: "broken" });
    expect(() => cat.transitionTag("user", tag, "published", { actor: ada, reason: "fixed" })).toThrow(
      expect.objectContaining({ code: "forbidden" }),
    );
    expect(cat.transitionTag("user", tag, "published", { actor: ray, reason: "fixed" }).status).toBe("published");
  });

  it("needs an owner to submit, and a reason for reject, deprecate, disable and re-enable", () => {
    cat.registerLoadedTags("user", [{ name: "orphan", type: "bool" }], "load");
    expect(() => cat.transitionTag("user", "orphan", "pending_review", { actor: olivia })).toThrow(/has no owner/);
    const needsReason: [TagStatus, TagStatus, Principal][] = [
      ["pending_review", "draft", rita],
      ["published", "deprecated", tom],
      ["deprecated", "disabled", tom],
      ["disabled", "published", rita],
    ];
    for (const [from, to, actor] of needsReason) {
      const tag = tagIn(from);
      expect(() => cat.transitionTag("user", tag, to, { actor, reason: "  " })).toThrow(
        expect.objectContaining({ code: "bad_request", message: expect.stringContaining("needs a reason") }),
      );
    }
  });

  it("is unauthorized without a principal once users exist", () => {
    const tag = tagIn("draft");
    expect(() => cat.transitionTag("user", tag, "pending_review", { actor: null })).toThrow(
      expect.objectContaining({ code: "unauthorized" }),
    );
  });

  it("a rejected tag goes back to draft and can be resubmitted; the audit log tells the whole story", () => {
    const tag = tagIn("pending_review");
    cat.transitionTag("user", tag, "draft", { actor: rita, reason: "describe it first" });
    cat.updateTag("user", tag, { description: "now described" }, { actor: olivia });
    cat.transitionTag("user", tag, "pending_review", { actor: olivia });
    cat.transitionTag("user", tag, "published", { actor: ray });
    const story = cat.audit({ tag }).reverse().map((e) => [e.action, e.actor, e.fromStatus, e.toStatus]);
    expect(story).toEqual([
      ["create", "olivia", null, "draft"],
      ["submit", "olivia", "draft", "pending_review"],
      ["reject", "rita", "pending_review", "draft"],
      ["update", "olivia", null, null],
      ["submit", "olivia", "draft", "pending_review"],
      ["approve", "ray", "pending_review", "published"],
    ]);
  });
});

describe("queries and the lifecycle", () => {
  const table: [TagStatus, boolean, "ok" | "warn" | "unknown_tag" | "tag_disabled"][] = [
    ["published", false, "ok"],
    ["published", true, "ok"],
    ["deprecated", false, "warn"],
    ["deprecated", true, "warn"],
    ["draft", false, "unknown_tag"],
    ["draft", true, "ok"],
    ["pending_review", false, "unknown_tag"],
    ["pending_review", true, "ok"],
    ["disabled", false, "tag_disabled"],
    ["disabled", true, "tag_disabled"],
  ];
  it.each(table)("%s tag, includeDrafts %s: %s", (status, includeDrafts, expected) => {
    const tag = tagIn(status);
    const run = () => cat.checkQueryTags("user", ["age_unknown_to_catalog", tag], { includeDrafts });
    if (expected === "ok") expect(run()).toEqual({ warnings: [] });
    else if (expected === "warn") expect(run().warnings).toEqual([expect.stringContaining(`${tag} is deprecated`)]);
    else expect(run).toThrow(expect.objectContaining({ code: expected }));
  });

  it("loads register drafts owned by the loader once users exist", () => {
    const r = cat.registerLoadedTags("user", [{ name: "fresh", type: "enum" }, { name: "t_missing", type: "int" }], "nightly", "olivia");
    expect(r.created).toEqual(["fresh", "t_missing"]);
    expect(cat.getTag("user", "fresh")).toMatchObject({ status: "draft", owner: "olivia", productionType: "import", dataSource: "nightly" });
    expect(cat.audit({ tag: "fresh" }).map((e) => e.action)).toEqual(["create"]);
    expect(() => cat.checkQueryTags("user", ["fresh"])).toThrow(expect.objectContaining({ code: "unknown_tag" }));
  });
});

describe("open single-user mode", () => {
  it("publishes tags created by loads at once, and says so in the audit log", () => {
    const d = tempDir();
    const open = openCatalog(d);
    expect(open.openMode()).toBe(true);
    open.registerLoadedTags("user", [{ name: "age", type: "int" }], "first load");
    expect(open.status("user", "age")).toBe("published");
    expect(open.checkQueryTags("user", ["age"])).toEqual({ warnings: [] });
    const story = open.audit({ tag: "age" }).reverse();
    expect(story.map((e) => [e.action, e.actor, e.fromStatus, e.toStatus])).toEqual([
      ["create", "local", null, "draft"],
      ["publish_open_mode", "local", "draft", "published"],
    ]);
    expect(story[1]!.reason).toMatch(/open single-user mode/);
    // The one local actor may make every move in the table, review included.
    open.createTag({ entity: "user", name: "planned", type: "bool" }, null);
    open.transitionTag("user", "planned", "pending_review", { actor: null });
    expect(open.transitionTag("user", "planned", "published", { actor: null }).status).toBe("published");
    expect(() => open.transitionTag("user", "planned", "disabled", { actor: null, reason: "x" })).toThrow(
      expect.objectContaining({ code: "invalid_transition" }),
    );
    open.close();
  });
});
