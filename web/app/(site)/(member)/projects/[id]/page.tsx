import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { cache } from "react";

import { ProjectEditor } from "@/components/editor/project-editor";
import { RenewSession } from "@/components/renew-session";
import { ApiError } from "@/lib/api/problems";
import { requireUser, serverApi, unwrap } from "@/lib/api/server";
import type { ProjectView } from "@/lib/api/types";

type Props = { params: Promise<{ id: string }> };

/** The project, fetched once per request for the title and the page; null when it isn't theirs. */
const getProject = cache(async (id: string): Promise<ProjectView | null> => {
  const api = await serverApi();
  try {
    return await unwrap(api.GET("/api/projects/{project_id}", { params: { path: { project_id: id } } }));
  } catch (error) {
    if (error instanceof ApiError && [400, 404, 422].includes(error.status)) return null;
    throw error;
  }
});

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const project = await getProject((await params).id).catch(() => null);
  return { title: project?.title ?? "Project", robots: { index: false } };
}

export default async function ProjectPage({ params }: Props) {
  const { id } = await params;
  const user = await requireUser(`/projects/${id}`);
  if (!user) return <RenewSession />;
  const project = await getProject(id);
  if (!project) notFound();
  const api = await serverApi();
  const [renders, music] = await Promise.allSettled([
    unwrap(api.GET("/api/projects/{project_id}/renders", { params: { path: { project_id: id } } })),
    unwrap(api.GET("/api/music")),
  ]);
  return (
    <ProjectEditor
      initialProject={project}
      initialRender={renders.status === "fulfilled" ? (renders.value.items[0] ?? null) : null}
      initialTracks={music.status === "fulfilled" ? music.value.tracks : null}
      initialBalance={user.creditBalance}
    />
  );
}
