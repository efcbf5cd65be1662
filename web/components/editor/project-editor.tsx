"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";

import { PushPrompt } from "@/components/push-prompt";
import { Button, ButtonLink } from "@/components/ui/button";
import { ArrowLeftIcon, PhotoIcon, SparkleIcon } from "@/components/ui/icons";
import { ProblemNotice } from "@/components/ui/problem-notice";
import { api, request } from "@/lib/api/client";
import { describeProblem, type ProblemMessage } from "@/lib/api/problems";
import type { ClipView, ProjectMusic, ProjectView, Render, Track } from "@/lib/api/types";
import { plural } from "@/lib/format";
import { publishBalance, useBalance } from "@/lib/balance";
import { useLiveEvents } from "@/lib/live-events";

import { ClipDialog } from "./clip-dialog";
import { ClipGrid } from "./clip-grid";
import { MusicPicker } from "./music-picker";
import { PhotoUploader } from "./photo-uploader";
import { ProjectTitle } from "./project-title";
import { StyleOptions, type EditableStyle } from "./style-options";
import { VideoPanel } from "./video-panel";

/** Settings are saved this long after the last change, so a slider drag is one request. */
const SAVE_DELAY_MS = 600;

interface ProjectEditorProps {
  initialProject: ProjectView;
  initialRender: Render | null;
  initialTracks: Track[] | null;
  initialBalance: number;
}

type SaveState = "idle" | "saving" | "saved" | "failed";

function fullMusic(music: ProjectMusic): Required<ProjectMusic> {
  return { trackId: music.trackId ?? null, startOffset: music.startOffset ?? 0, volume: music.volume ?? 0.8, beatSync: music.beatSync ?? false };
}

function editableStyle(project: ProjectView): EditableStyle {
  return { transition: project.style.transition ?? { kind: "crossfade", duration: 0.5 }, titleCard: project.style.titleCard ?? null };
}

const isWorking = (clip: ClipView) => clip.status === "queued" || clip.status === "generating";

/**
 * The project editor: photos in, clips made and kept live, put in order, music and style
 * chosen, and the video made, downloaded and shared. State lives here; the sections below
 * call the API and hand back what changed.
 */
export function ProjectEditor({ initialProject, initialRender, initialTracks, initialBalance }: ProjectEditorProps) {
  const router = useRouter();
  const [project, setProject] = useState(initialProject);
  const [render, setRender] = useState(initialRender);
  const [tracks, setTracks] = useState(initialTracks);
  const balance = useBalance(initialBalance);
  const [openClipId, setOpenClipId] = useState<string | null>(null);
  const [problem, setProblem] = useState<ProblemMessage | null>(null);
  const [generating, setGenerating] = useState(false);
  const [askedToGenerate, setAskedToGenerate] = useState(false);
  const [music, setMusic] = useState(() => fullMusic(initialProject.music));
  const [style, setStyle] = useState(() => editableStyle(initialProject));
  const [musicSave, setMusicSave] = useState<SaveState>("idle");
  const [styleSave, setStyleSave] = useState<SaveState>("idle");
  const projectId = project.id;

  const clips = project.clips;
  const drafts = clips.filter((clip) => clip.status === "draft").length;
  const working = clips.filter(isWorking).length;
  const failed = clips.filter((clip) => clip.status === "failed").length;
  const ready = clips.filter((clip) => clip.status === "succeeded").length;
  const renderWorking = render?.status === "queued" || render?.status === "rendering";

  const refreshProject = useCallback(async () => {
    try {
      setProject(await request(() => api.GET("/api/projects/{project_id}", { params: { path: { project_id: projectId } } })));
    } catch (error) {
      setProblem(describeProblem(error));
    }
  }, [projectId]);

  const renderId = render?.id ?? null;
  const refreshRender = useCallback(async () => {
    if (!renderId) return;
    try {
      setRender(await request(() => api.GET("/api/renders/{render_id}", { params: { path: { render_id: renderId } } })));
    } catch {
      // The panel keeps the last known state; the next poll or event tries again.
    }
  }, [renderId]);

  const updateClip = useCallback((clipId: string, patch: Partial<ClipView>) => {
    setProject((current) => ({ ...current, clips: current.clips.map((clip) => (clip.id === clipId ? { ...clip, ...patch } : clip)) }));
  }, []);

  const liveMode = useLiveEvents({
    active: working > 0 || renderWorking,
    refresh: async () => {
      await Promise.all([refreshProject(), refreshRender()]);
    },
    onEvent: (event) => {
      switch (event.type) {
        case "clip.progress":
          if (event.projectId === projectId) updateClip(event.clipId, { status: "generating", progress: event.progress });
          break;
        case "clip.status":
          if (event.projectId !== projectId) break;
          updateClip(event.clipId, { status: event.status, progress: event.progress, error: event.error ?? null });
          if (event.status === "succeeded" || event.status === "failed") void refreshProject();
          break;
        case "render.progress":
          if (event.renderId === renderId) setRender((current) => (current ? { ...current, status: "rendering", progress: event.progress } : current));
          break;
        case "render.status":
          if (event.renderId !== renderId) break;
          setRender((current) => (current ? { ...current, status: event.status, progress: event.progress, error: event.error ?? null } : current));
          if (event.status === "succeeded" || event.status === "failed") void refreshRender();
          break;
        case "credits.changed":
          publishBalance(event.balance);
          break;
      }
    },
  });

  // Reordering: the grid shows the new order at once; requests go out one at a time, always
  // with the latest order, so fast key presses end in the order the person sees.
  const order = useRef<{ inFlight: boolean; wanted: string[] | null }>({ inFlight: false, wanted: null });
  const sendOrder = useCallback(async () => {
    const state = order.current;
    if (state.inFlight || !state.wanted) return;
    const clipIds = state.wanted;
    state.wanted = null;
    state.inFlight = true;
    try {
      await request(() => api.PUT("/api/projects/{project_id}/order", { params: { path: { project_id: projectId } }, body: { clipIds } }));
    } catch (error) {
      setProblem(describeProblem(error));
      state.wanted = null;
      void refreshProject();
    } finally {
      state.inFlight = false;
      if (state.wanted) void sendOrder();
    }
  }, [projectId, refreshProject]);

  function reorder(clipIds: string[]) {
    setProject((current) => {
      const byId = new Map(current.clips.map((clip) => [clip.id, clip]));
      return { ...current, clips: clipIds.map((id, position) => ({ ...byId.get(id)!, position })) };
    });
    order.current.wanted = clipIds;
    void sendOrder();
  }

  function moveClip(clipId: string, to: number) {
    const ids = clips.map((clip) => clip.id);
    const from = ids.indexOf(clipId);
    if (from < 0 || to < 0 || to >= ids.length || from === to) return;
    ids.splice(from, 1);
    ids.splice(to, 0, clipId);
    reorder(ids);
  }

  async function generate() {
    setGenerating(true);
    setProblem(null);
    try {
      const result = await request(() => api.POST("/api/projects/{project_id}/generate", { params: { path: { project_id: projectId } } }));
      setProject(result.project);
      publishBalance(result.balance);
      setAskedToGenerate(true);
    } catch (error) {
      setProblem(describeProblem(error));
    } finally {
      setGenerating(false);
    }
  }

  // Music and style save themselves shortly after the last change.
  const firstMusic = useRef(true);
  useEffect(() => {
    if (firstMusic.current) {
      firstMusic.current = false;
      return;
    }
    setMusicSave("saving");
    const timer = setTimeout(() => {
      request(() => api.PUT("/api/projects/{project_id}/music", { params: { path: { project_id: projectId } }, body: music })).then(
        () => setMusicSave("saved"),
        (error: unknown) => {
          setMusicSave("failed");
          setProblem(describeProblem(error));
        },
      );
    }, SAVE_DELAY_MS);
    return () => clearTimeout(timer);
  }, [music, projectId]);

  const captions = useRef(project.style.captions ?? {});
  const saveStyle = useCallback(
    (next: EditableStyle) =>
      request(() =>
        api.PUT("/api/projects/{project_id}/style", {
          params: { path: { project_id: projectId } },
          body: { transition: next.transition, titleCard: next.titleCard, captions: captions.current },
        }),
      ),
    [projectId],
  );

  const firstStyle = useRef(true);
  useEffect(() => {
    if (firstStyle.current) {
      firstStyle.current = false;
      return;
    }
    setStyleSave("saving");
    const timer = setTimeout(() => {
      saveStyle(style).then(
        () => setStyleSave("saved"),
        (error: unknown) => {
          setStyleSave("failed");
          setProblem(describeProblem(error));
        },
      );
    }, SAVE_DELAY_MS);
    return () => clearTimeout(timer);
  }, [style, saveStyle]);

  async function saveClipDetails(clip: ClipView, prompt: string | null, caption: string | null): Promise<ProblemMessage | null> {
    try {
      if (prompt !== (clip.prompt ?? null)) {
        const updated = await request(() =>
          api.PATCH("/api/projects/{project_id}/clips/{clip_id}", { params: { path: { project_id: projectId, clip_id: clip.id } }, body: { prompt } }),
        );
        updateClip(clip.id, { prompt: updated.prompt });
      }
      if (caption !== (clip.caption ?? null)) {
        const next = { ...captions.current };
        if (caption) next[clip.id] = caption;
        else delete next[clip.id];
        captions.current = next;
        await saveStyle(style);
        updateClip(clip.id, { caption });
      }
      return null;
    } catch (error) {
      return describeProblem(error);
    }
  }

  async function regenerate(clip: ClipView, prompt: string | null): Promise<ProblemMessage | null> {
    try {
      const result = await request(() =>
        api.POST("/api/projects/{project_id}/clips/{clip_id}/regenerate", { params: { path: { project_id: projectId, clip_id: clip.id } }, body: { prompt } }),
      );
      setProject((current) => ({
        ...current,
        freeRegenerationsLeft: result.freeRegenerationsLeft,
        clips: current.clips.map((candidate) => (candidate.id === clip.id ? result.clip : candidate)),
      }));
      publishBalance(result.balance);
      return null;
    } catch (error) {
      return describeProblem(error);
    }
  }

  async function deleteClip(clip: ClipView): Promise<ProblemMessage | null> {
    try {
      await request(() => api.DELETE("/api/projects/{project_id}/clips/{clip_id}", { params: { path: { project_id: projectId, clip_id: clip.id } } }));
      setOpenClipId(null);
      setProject((current) => ({ ...current, clips: current.clips.filter((candidate) => candidate.id !== clip.id) }));
      return null;
    } catch (error) {
      return describeProblem(error);
    }
  }

  const openIndex = clips.findIndex((clip) => clip.id === openClipId);
  const openClip = openIndex >= 0 ? clips[openIndex]! : null;
  const shortBy = Math.max(0, drafts - balance);

  let blockedReason: string | null = null;
  if (clips.length === 0) blockedReason = "Add photos and make their clips first.";
  else if (ready < clips.length) {
    blockedReason =
      failed > 0
        ? `${plural(failed, "clip")} didn't work. Make ${failed === 1 ? "it" : "them"} again or remove ${failed === 1 ? "it" : "them"} to continue.`
        : drafts > 0
          ? "Make the clips for all your photos first."
          : "Your clips are still being made — this unlocks when they're ready.";
  }

  return (
    <div className="grid gap-8 pb-12 pt-2 sm:pt-4 lg:grid-cols-[minmax(0,1fr)_22rem] lg:items-start">
      <div className="flex flex-col gap-6">
        <div className="flex flex-col gap-3">
          <Link href="/dashboard" className="-ml-1 inline-flex min-h-11 items-center gap-1.5 self-start rounded-full px-1 text-sm font-medium text-muted hover:text-ink">
            <ArrowLeftIcon className="size-4" /> My projects
          </Link>
          <ProjectTitle project={project} onRenamed={(title) => setProject((current) => ({ ...current, title }))} onDeleted={() => router.push("/dashboard")} />
        </div>

        <section aria-labelledby="clips-heading" className="flex flex-col gap-4">
          <div className="flex flex-wrap items-baseline justify-between gap-2">
            <h2 id="clips-heading" className="text-lg font-semibold text-ink">
              Photos and clips
            </h2>
            <p className="text-sm text-muted" data-testid="clip-summary">
              {clips.length === 0
                ? `Up to ${project.maxClips} photos`
                : [plural(clips.length, "photo"), ready ? `${ready} ready` : null, working ? `${working} animating` : null, failed ? `${failed} failed` : null].filter(Boolean).join(" · ")}
              {liveMode === "polling" && working > 0 ? " · checking every few seconds" : ""}
            </p>
          </div>

          <PhotoUploader
            projectId={projectId}
            capacity={project.maxClips - clips.length}
            onClipAdded={(clip) => setProject((current) => (current.clips.some((existing) => existing.id === clip.id) ? current : { ...current, clips: [...current.clips, clip] }))}
          />

          {drafts > 0 && (
            <div className="flex flex-col gap-3 rounded-3xl border border-ember/30 bg-ember-soft/30 p-4 sm:flex-row sm:items-center sm:p-5" data-testid="generate-bar">
              <p className="flex-1 text-base leading-relaxed text-ink">
                {plural(drafts, "photo")} ready to animate. This uses {plural(drafts, "credit")}; you have {balance}.
                {shortBy > 0 && ` You need ${shortBy} more.`}
              </p>
              {shortBy > 0 ? (
                <ButtonLink href="/credits">Buy credits</ButtonLink>
              ) : (
                <Button onClick={() => void generate()} disabled={generating} data-testid="generate-clips">
                  <SparkleIcon /> {generating ? "Starting…" : `Create ${plural(drafts, "clip")}`}
                </Button>
              )}
            </div>
          )}
          <ProblemNotice problem={problem} onRetry={() => setProblem(null)} />
          {askedToGenerate && working > 0 && <PushPrompt what="your clips are" />}

          {clips.length === 0 ? (
            <div className="flex flex-col items-center gap-2 rounded-3xl bg-sand/40 px-6 py-10 text-center">
              <PhotoIcon className="size-8 text-muted" />
              <p className="text-base text-muted">Your clips will appear here, in the order they play.</p>
            </div>
          ) : (
            <ClipGrid clips={clips} aspect={project.aspect} onReorder={reorder} onOpen={(clip) => setOpenClipId(clip.id)} />
          )}
        </section>

        <div className="flex flex-col gap-6">
          <Panel title="Music" status={musicSave} id="music">
            <MusicPicker tracks={tracks} music={music} onTracksChange={setTracks} onChange={setMusic} />
          </Panel>
          <Panel title="Style" status={styleSave} id="style">
            <StyleOptions style={style} onChange={setStyle} />
          </Panel>
        </div>
      </div>

      <aside className="flex flex-col gap-6 lg:sticky lg:top-6">
        <Panel title="Your video" id="video">
          <VideoPanel projectId={projectId} aspect={project.aspect} render={render} blockedReason={blockedReason} onRender={setRender} />
        </Panel>
      </aside>

      {openClip && (
        <ClipDialog
          key={openClip.id}
          clip={openClip}
          index={openIndex}
          total={clips.length}
          aspect={project.aspect}
          freeRegenerationsLeft={project.freeRegenerationsLeft}
          onClose={() => setOpenClipId(null)}
          onMove={(to) => moveClip(openClip.id, to)}
          onRegenerate={(prompt) => regenerate(openClip, prompt)}
          onDelete={() => deleteClip(openClip)}
          onSaveDetails={(prompt, caption) => saveClipDetails(openClip, prompt, caption)}
        />
      )}
    </div>
  );
}

const SAVE_TEXT: Record<SaveState, string> = { idle: "", saving: "Saving…", saved: "Saved", failed: "Not saved" };

function Panel({ title, id, status = "idle", children }: { title: string; id: string; status?: SaveState; children: ReactNode }) {
  return (
    <section aria-labelledby={`${id}-heading`} className="flex min-w-0 flex-col gap-4 rounded-3xl border border-line/70 bg-paper p-5 shadow-soft sm:p-6">
      <div className="flex items-baseline justify-between gap-3">
        <h2 id={`${id}-heading`} className="font-display text-2xl text-ink">
          {title}
        </h2>
        <span role="status" className={`text-sm ${status === "failed" ? "text-ember-deep" : "text-muted"}`} data-testid={`${id}-save-state`}>
          {SAVE_TEXT[status]}
        </span>
      </div>
      {children}
    </section>
  );
}
