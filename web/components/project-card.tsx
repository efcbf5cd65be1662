import Link from "next/link";

import { PhotoIcon } from "@/components/ui/icons";
import type { ProjectSummary } from "@/lib/api/types";
import { formatDate, plural } from "@/lib/format";

const ASPECT_CLASS: Record<ProjectSummary["aspect"], string> = {
  "16:9": "aspect-video",
  "9:16": "aspect-[4/5]",
  "1:1": "aspect-square",
};

function stateLine(project: ProjectSummary): { text: string; tone: "busy" | "problem" | "ready" | "empty" } {
  if (project.clipCount === 0) return { text: "No photos yet", tone: "empty" };
  if (project.generatingCount > 0) return { text: `Making ${plural(project.generatingCount, "clip")}…`, tone: "busy" };
  if (project.failedCount > 0) return { text: `${plural(project.failedCount, "clip")} need attention`, tone: "problem" };
  if (project.readyCount === project.clipCount) return { text: `${plural(project.readyCount, "clip")} ready`, tone: "ready" };
  return { text: `${project.readyCount} of ${project.clipCount} clips ready`, tone: "busy" };
}

const TONE_CLASS = {
  busy: "bg-sand text-ink",
  problem: "bg-ember-soft text-ember-deep",
  ready: "bg-moss-soft text-moss",
  empty: "bg-sand/70 text-muted",
};

/** A project on the dashboard: its cover, title, and where its clips stand. */
export function ProjectCard({ project }: { project: ProjectSummary }) {
  const state = stateLine(project);
  return (
    <li>
      <Link href={`/projects/${project.id}`} className="group flex h-full flex-col overflow-hidden rounded-3xl border border-line/70 bg-paper shadow-soft transition-shadow hover:shadow-lift">
        <div className={`relative w-full overflow-hidden bg-sand ${ASPECT_CLASS[project.aspect]}`}>
          {project.coverUrl ? (
            <img src={project.coverUrl} alt="" className="absolute inset-0 size-full object-cover transition-transform duration-500 group-hover:scale-[1.02]" />
          ) : (
            <span className="absolute inset-0 flex items-center justify-center text-muted">
              <PhotoIcon className="size-10" />
            </span>
          )}
        </div>
        <div className="flex flex-1 flex-col gap-2 p-4">
          <h3 className="text-lg font-semibold leading-snug text-ink">{project.title}</h3>
          <div className="mt-auto flex flex-wrap items-center justify-between gap-2">
            <span className={`rounded-full px-2.5 py-1 text-xs font-semibold ${TONE_CLASS[state.tone]}`}>{state.text}</span>
            <span className="text-xs text-muted">{formatDate(project.createdAt)}</span>
          </div>
        </div>
      </Link>
    </li>
  );
}
