"use client";

import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";

import { Button } from "@/components/ui/button";
import { ProblemNotice } from "@/components/ui/problem-notice";
import { api, request } from "@/lib/api/client";
import { describeProblem, type ProblemMessage } from "@/lib/api/problems";
import type { Aspect } from "@/lib/api/types";

const ASPECTS: { value: Aspect; label: string; hint: string; box: string }[] = [
  { value: "9:16", label: "Tall", hint: "Phones, stories", box: "h-9 w-5" },
  { value: "1:1", label: "Square", hint: "Feeds, frames", box: "size-7" },
  { value: "16:9", label: "Wide", hint: "TV, laptop", box: "h-5 w-9" },
];

/** Name a project and pick its shape; then straight into the editor. */
export function NewProjectForm() {
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ProblemMessage | null>(null);

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const title = String(form.get("title") ?? "").trim() || "Untitled project";
    const aspect = (String(form.get("aspect") ?? "16:9") as Aspect) || "16:9";
    setBusy(true);
    setProblem(null);
    try {
      const project = await request(() => api.POST("/api/projects", { body: { title, aspect } }));
      router.push(`/projects/${project.id}`);
    } catch (error) {
      setProblem(describeProblem(error));
      setBusy(false);
    }
  }

  return (
    <form onSubmit={create} className="flex flex-col gap-5" data-testid="new-project">
      <div className="flex flex-col gap-1.5">
        <label htmlFor="project-title" className="text-sm font-semibold text-ink">
          What is it about?
        </label>
        <input
          id="project-title"
          name="title"
          maxLength={120}
          placeholder="Grandma's garden, summer 1974"
          className="min-h-12 rounded-xl border border-line bg-paper px-4 text-base text-ink shadow-sm outline-none placeholder:text-muted/80 focus:border-ember focus:ring-2 focus:ring-ember/20"
        />
      </div>
      <fieldset className="flex flex-col gap-2">
        <legend className="mb-1.5 text-sm font-semibold text-ink">Shape of the video</legend>
        <div className="grid grid-cols-3 gap-2 sm:gap-3">
          {ASPECTS.map((aspect) => (
            <label
              key={aspect.value}
              className="flex cursor-pointer flex-col items-center gap-2 rounded-2xl border border-line bg-paper px-2 py-3 text-center transition-colors hover:border-ember/50 has-[:checked]:border-ember has-[:checked]:bg-ember-soft/40 has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-ember"
            >
              <input type="radio" name="aspect" value={aspect.value} defaultChecked={aspect.value === "9:16"} className="sr-only" />
              <span className="flex h-10 items-center">
                <span aria-hidden className={`rounded-md border-2 border-ink/70 ${aspect.box}`} />
              </span>
              <span className="text-sm font-semibold text-ink">{aspect.label}</span>
              <span className="text-xs text-muted">{aspect.hint}</span>
            </label>
          ))}
        </div>
      </fieldset>
      <ProblemNotice problem={problem} />
      <Button type="submit" disabled={busy} block>
        {busy ? "Creating…" : "Create project"}
      </Button>
    </form>
  );
}
