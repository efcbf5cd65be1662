import type { Metadata } from "next";

import { FreeClipCard } from "@/components/free-clip-card";
import { InstallCard } from "@/components/install-card";
import { NewProjectForm } from "@/components/new-project-form";
import { ProjectCard } from "@/components/project-card";
import { RenewSession } from "@/components/renew-session";
import { ButtonLink } from "@/components/ui/button";
import { PhotoIcon } from "@/components/ui/icons";
import { requireUser, serverApi, unwrap } from "@/lib/api/server";
import { plural } from "@/lib/format";

export const metadata: Metadata = { title: "My projects" };

export default async function DashboardPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await requireUser("/dashboard");
  if (!user) return <RenewSession />;
  const { claimed } = await searchParams;
  const api = await serverApi();
  const { items: projects } = await unwrap(api.GET("/api/projects"));
  const claimedIds = (typeof claimed === "string" ? claimed.split(",") : []).filter((id) => /^[0-9a-f-]{36}$/i.test(id));
  const firstName = (user.displayName || "").split(" ")[0];

  return (
    <div className="flex flex-col gap-8 pb-12 pt-2 sm:pt-6">
      <div className="flex flex-col gap-4 sm:flex-row sm:items-end sm:justify-between">
        <div>
          <h1 className="font-display text-4xl text-ink sm:text-5xl">{firstName ? `Hello, ${firstName}` : "Your projects"}</h1>
          <p className="mt-2 text-base text-muted">
            You have <strong className="font-semibold text-ink">{plural(user.creditBalance, "credit")}</strong> — enough for {plural(user.creditBalance, "clip")}.
          </p>
        </div>
        <ButtonLink href="/credits" variant="secondary" className="self-start sm:self-auto">
          Buy credits
        </ButtonLink>
      </div>

      <FreeClipCard claimed={claimedIds} />

      {projects.length === 0 ? (
        <div className="grid gap-8 lg:grid-cols-[minmax(0,1fr)_22rem] lg:items-start">
          <section aria-labelledby="new-project-heading" className="flex flex-col gap-5 rounded-3xl border border-line/70 bg-paper p-5 shadow-soft sm:p-7">
            <div className="flex items-start gap-4">
              <span aria-hidden className="hidden size-12 shrink-0 items-center justify-center rounded-full bg-sand text-ember sm:flex">
                <PhotoIcon className="size-6" />
              </span>
              <div>
                <h2 id="new-project-heading" className="font-display text-2xl text-ink sm:text-3xl">
                  Your first project starts with a few photos
                </h2>
                <p className="mt-1 text-base leading-relaxed text-muted">Give it a name and choose its shape; next you&apos;ll add the photos you want to see move.</p>
              </div>
            </div>
            <NewProjectForm />
          </section>
          <InstallCard dismissible />
        </div>
      ) : (
        <div className="grid gap-8 lg:grid-cols-[minmax(0,1fr)_22rem] lg:items-start">
          <section aria-labelledby="projects-heading" className="flex flex-col gap-4">
            <h2 id="projects-heading" className="text-lg font-semibold text-ink">
              Projects
            </h2>
            <ul className="grid grid-cols-1 gap-4 sm:grid-cols-2">
              {projects.map((project) => (
                <ProjectCard key={project.id} project={project} />
              ))}
            </ul>
          </section>
          <aside className="flex flex-col gap-6">
            <section aria-labelledby="new-project-heading" className="rounded-3xl border border-line/70 bg-paper p-5 shadow-soft sm:p-6">
              <h2 id="new-project-heading" className="mb-4 font-display text-2xl text-ink">
                Start a new project
              </h2>
              <NewProjectForm />
            </section>
            <InstallCard dismissible />
          </aside>
        </div>
      )}
    </div>
  );
}
