"use client";

import { useState, type FormEvent } from "react";

import { Button } from "@/components/ui/button";
import { ProblemNotice } from "@/components/ui/problem-notice";
import { api, request } from "@/lib/api/client";
import { describeProblem, type ProblemMessage } from "@/lib/api/problems";
import type { ProjectView } from "@/lib/api/types";

const ASPECT_NAME: Record<ProjectView["aspect"], string> = { "16:9": "Wide 16:9", "9:16": "Tall 9:16", "1:1": "Square 1:1" };

/** The project's name (tap to rename), its shape, and deleting it. */
export function ProjectTitle({ project, onRenamed, onDeleted }: { project: ProjectView; onRenamed: (title: string) => void; onDeleted: () => void }) {
  const [editing, setEditing] = useState(false);
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ProblemMessage | null>(null);

  async function rename(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const title = String(new FormData(event.currentTarget).get("title") ?? "").trim();
    if (!title || title === project.title) {
      setEditing(false);
      return;
    }
    setBusy(true);
    try {
      const updated = await request(() => api.PATCH("/api/projects/{project_id}", { params: { path: { project_id: project.id } }, body: { title } }));
      onRenamed(updated.title);
      setEditing(false);
      setProblem(null);
    } catch (error) {
      setProblem(describeProblem(error));
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    setBusy(true);
    try {
      await request(() => api.DELETE("/api/projects/{project_id}", { params: { path: { project_id: project.id } } }));
      onDeleted();
    } catch (error) {
      setProblem(describeProblem(error));
      setBusy(false);
    }
  }

  return (
    <div className="flex flex-col gap-3">
      {editing ? (
        <form onSubmit={rename} className="flex flex-col gap-2 sm:flex-row">
          <label htmlFor="rename-project" className="sr-only">
            Project name
          </label>
          <input
            id="rename-project"
            name="title"
            defaultValue={project.title}
            maxLength={120}
            autoFocus
            className="min-h-12 flex-1 rounded-xl border border-line bg-paper px-4 font-display text-2xl text-ink shadow-sm outline-none focus:border-ember focus:ring-2 focus:ring-ember/20"
          />
          <div className="flex gap-2">
            <Button type="submit" disabled={busy}>
              Save
            </Button>
            <Button variant="quiet" onClick={() => setEditing(false)}>
              Cancel
            </Button>
          </div>
        </form>
      ) : (
        <h1 className="font-display text-4xl leading-tight text-ink sm:text-5xl">{project.title}</h1>
      )}
      {!editing && (
        <div className="flex flex-wrap items-center gap-x-4 gap-y-1 text-sm">
          <span className="rounded-full bg-sand px-3 py-1 font-medium text-ink">{ASPECT_NAME[project.aspect]}</span>
          <button type="button" onClick={() => setEditing(true)} className="min-h-11 font-medium text-ember-deep underline-offset-4 hover:underline">
            Rename
          </button>
          <button type="button" onClick={() => setConfirmingDelete(true)} className="min-h-11 font-medium text-muted underline-offset-4 hover:text-ember-deep hover:underline">
            Delete project
          </button>
        </div>
      )}
      {confirmingDelete && (
        <div className="flex flex-col gap-3 rounded-2xl bg-ember-soft/50 p-4" role="alertdialog" aria-label="Delete this project?">
          <p className="text-sm text-ink">Delete “{project.title}” with all its photos, clips and videos? Shared links stop working. This can&apos;t be undone.</p>
          <div className="flex gap-3">
            <Button size="sm" onClick={() => void remove()} disabled={busy}>
              {busy ? "Deleting…" : "Yes, delete it"}
            </Button>
            <Button size="sm" variant="quiet" onClick={() => setConfirmingDelete(false)}>
              Keep it
            </Button>
          </div>
        </div>
      )}
      <ProblemNotice problem={problem} />
    </div>
  );
}
