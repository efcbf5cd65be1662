"use client";

import { useCallback, useEffect, useRef, useState } from "react";

import { LabelledProgress } from "@/components/ui/progress-bar";
import { MusicIcon, PauseIcon, PlayIcon, TrashIcon, UploadIcon } from "@/components/ui/icons";
import { ProblemNotice } from "@/components/ui/problem-notice";
import { api, multipart, request, withUploadProgress } from "@/lib/api/client";
import { describeProblem, type ProblemMessage } from "@/lib/api/problems";
import type { MusicUpload, ProjectMusic, Track } from "@/lib/api/types";
import { formatDuration } from "@/lib/format";
import { useLiveEvents } from "@/lib/live-events";

const MAX_TRACK_BYTES = 20 * 1024 * 1024;

interface MusicPickerProps {
  tracks: Track[] | null;
  music: Required<ProjectMusic>;
  onTracksChange: (tracks: Track[]) => void;
  /** Saves the music settings (the parent debounces and reports problems). */
  onChange: (music: Required<ProjectMusic>) => void;
}

/**
 * The soundtrack: the built-in library and the person's own tracks, each with a preview;
 * upload a track; volume, where in the song to start, and whether cuts follow the beat.
 * An upload is `processing` until the worker has prepared it (it can't be chosen yet); the
 * list reloads on its `music.status` event, and is polled while one is processing.
 */
export function MusicPicker({ tracks, music, onTracksChange, onChange }: MusicPickerProps) {
  const audio = useRef<HTMLAudioElement | null>(null);
  const [playing, setPlaying] = useState<string | null>(null);
  const [upload, setUpload] = useState<{ name: string; fraction: number } | null>(null);
  const [problem, setProblem] = useState<ProblemMessage | null>(null);
  const selected = tracks?.find((track) => track.id === music.trackId) ?? null;
  const processing = tracks?.some((track) => track.status === "processing") ?? false;

  const reload = useCallback(async () => {
    try {
      onTracksChange((await request(() => api.GET("/api/music"))).tracks);
    } catch {
      // The list on screen stays; the next event or poll tries again.
    }
  }, [onTracksChange]);

  useLiveEvents({
    onEvent: (event) => {
      if (event.type === "music.status") void reload();
    },
    refresh: reload,
    active: processing,
  });

  useEffect(() => () => audio.current?.pause(), []);

  function togglePreview(track: Track) {
    if (!audio.current) {
      audio.current = new Audio();
      audio.current.addEventListener("ended", () => setPlaying(null));
    }
    const player = audio.current;
    if (playing === track.id) {
      player.pause();
      setPlaying(null);
      return;
    }
    if (!track.previewUrl) return;
    player.src = track.previewUrl;
    player.currentTime = 0;
    void player.play().then(
      () => setPlaying(track.id),
      () => setPlaying(null),
    );
  }

  async function uploadTrack(file: File) {
    setProblem(null);
    if (file.size > MAX_TRACK_BYTES) {
      setProblem({ code: "UPLOAD_TOO_LARGE", message: "This track is larger than 20 MB. Please choose a smaller file.", action: null, retryAt: null, retryable: false });
      return;
    }
    setUpload({ name: file.name, fraction: 0 });
    const body = multipart<MusicUpload>({ track: file, title: file.name.replace(/\.[^.]+$/, "") });
    try {
      const track = await request(() => api.POST("/api/music", { body, fetch: withUploadProgress((fraction) => setUpload({ name: file.name, fraction }), body) }));
      onTracksChange([...(tracks ?? []), track]);
      if (track.status === "ready") onChange({ ...music, trackId: track.id, startOffset: 0 });
    } catch (error) {
      setProblem(describeProblem(error));
    } finally {
      setUpload(null);
    }
  }

  async function deleteTrack(track: Track) {
    setProblem(null);
    try {
      await request(() => api.DELETE("/api/music/{track_id}", { params: { path: { track_id: track.id } } }));
      onTracksChange((tracks ?? []).filter((candidate) => candidate.id !== track.id));
      if (music.trackId === track.id) onChange({ ...music, trackId: null, startOffset: 0 });
    } catch (error) {
      setProblem(describeProblem(error));
    }
  }

  const own = tracks?.filter((track) => !track.builtin) ?? [];
  const library = tracks?.filter((track) => track.builtin) ?? [];

  return (
    <div className="flex flex-col gap-4" data-testid="music-picker">
      <fieldset className="flex flex-col gap-2">
        <legend className="sr-only">Choose the music</legend>
        <TrackOption id="none" name="No music" detail="Just the clips" checked={music.trackId === null} onSelect={() => onChange({ ...music, trackId: null, startOffset: 0 })} />
        {tracks === null && <p className="px-1 text-sm text-muted">The music library couldn&apos;t be loaded just now. Reload the page to try again.</p>}
        {library.map((track) => (
          <TrackOption
            key={track.id}
            id={track.id}
            name={track.title}
            detail={[track.mood, track.bpm ? `${Math.round(track.bpm)} bpm` : null, formatDuration(track.durationSeconds)].filter(Boolean).join(" · ")}
            description={track.description ?? undefined}
            checked={music.trackId === track.id}
            playing={playing === track.id}
            onPreview={() => togglePreview(track)}
            onSelect={() => onChange({ ...music, trackId: track.id, startOffset: 0 })}
          />
        ))}
        {own.length > 0 && <p className="mt-2 px-1 text-sm font-semibold text-ink">Your tracks</p>}
        {own.map((track) => (
          <TrackOption
            key={track.id}
            id={track.id}
            name={track.title}
            detail={track.status === "processing" ? "Preparing…" : track.status === "failed" ? (track.failure ?? "This track couldn't be prepared.") : formatDuration(track.durationSeconds)}
            problem={track.status === "failed"}
            disabled={track.status !== "ready"}
            checked={music.trackId === track.id}
            playing={playing === track.id}
            onPreview={track.previewUrl ? () => togglePreview(track) : undefined}
            onSelect={() => onChange({ ...music, trackId: track.id, startOffset: 0 })}
            onDelete={() => void deleteTrack(track)}
          />
        ))}
      </fieldset>

      {upload ? (
        <LabelledProgress label={`Uploading ${upload.name}`} value={upload.fraction} />
      ) : (
        <label className="flex min-h-12 cursor-pointer items-center justify-center gap-2 rounded-2xl border border-dashed border-line px-4 text-sm font-semibold text-ink hover:border-ember/60 focus-within:outline-2 focus-within:outline-ember">
          <input
            type="file"
            accept="audio/mpeg,audio/mp4,audio/aac,audio/x-m4a,audio/wav,audio/ogg,.mp3,.m4a,.aac,.wav,.ogg"
            className="sr-only"
            onChange={(event) => {
              const file = event.target.files?.[0];
              if (file) void uploadTrack(file);
              event.target.value = "";
            }}
          />
          <UploadIcon /> Upload your own song
        </label>
      )}
      <ProblemNotice problem={problem} />

      {selected && (
        <div className="flex flex-col gap-4 rounded-2xl bg-sand/50 p-4">
          <Slider
            id="music-volume"
            label="Music volume"
            min={0}
            max={1}
            step={0.05}
            value={music.volume}
            display={`${Math.round(music.volume * 100)}%`}
            onChange={(volume) => onChange({ ...music, volume })}
          />
          {selected.durationSeconds > 10 && (
            <Slider
              id="music-start"
              label="Start the song at"
              min={0}
              max={Math.min(Math.floor(selected.durationSeconds - 5), 600)}
              step={1}
              value={music.startOffset}
              display={formatDuration(music.startOffset)}
              onChange={(startOffset) => onChange({ ...music, startOffset })}
            />
          )}
          <label className="flex min-h-11 cursor-pointer items-center justify-between gap-4">
            <span className="flex flex-col">
              <span className="text-sm font-semibold text-ink">Cut on the beat</span>
              <span className="text-sm text-muted">Clips change in time with the music.</span>
            </span>
            <input type="checkbox" role="switch" checked={music.beatSync} onChange={(event) => onChange({ ...music, beatSync: event.target.checked })} className="peer sr-only" />
            <span aria-hidden className="relative h-7 w-12 shrink-0 rounded-full bg-line transition-colors peer-checked:bg-ember peer-focus-visible:outline-2 peer-focus-visible:outline-offset-2 peer-focus-visible:outline-ember after:absolute after:left-1 after:top-1 after:size-5 after:rounded-full after:bg-white after:shadow after:transition-transform peer-checked:after:translate-x-5" />
          </label>
        </div>
      )}
    </div>
  );
}

interface TrackOptionProps {
  id: string;
  name: string;
  detail: string;
  description?: string;
  checked: boolean;
  /** Not ready to be chosen (being prepared, or failed). */
  disabled?: boolean;
  /** The detail is a failure message. */
  problem?: boolean;
  playing?: boolean;
  onSelect: () => void;
  onPreview?: () => void;
  onDelete?: () => void;
}

function TrackOption({ id, name, detail, description, checked, disabled, problem, playing, onSelect, onPreview, onDelete }: TrackOptionProps) {
  return (
    <div className={`flex items-center gap-2 rounded-2xl border p-1.5 pr-2 transition-colors ${checked ? "border-ember bg-ember-soft/40" : "border-line/70 bg-paper"}`}>
      {onPreview ? (
        <button type="button" onClick={onPreview} aria-label={`${playing ? "Stop" : "Play"} a preview of ${name}`} aria-pressed={playing} className="flex size-11 shrink-0 items-center justify-center rounded-xl bg-sand text-ink hover:bg-ember-soft">
          {playing ? <PauseIcon /> : <PlayIcon className="size-5 translate-x-px" />}
        </button>
      ) : (
        <span aria-hidden className="flex size-11 shrink-0 items-center justify-center rounded-xl bg-sand/70 text-muted">
          <MusicIcon />
        </span>
      )}
      <label className={`flex min-h-11 min-w-0 flex-1 items-center gap-3 ${disabled ? "cursor-not-allowed" : "cursor-pointer"}`}>
        <span className="flex min-w-0 flex-1 flex-col">
          <span className={`truncate text-sm font-semibold ${disabled ? "text-muted" : "text-ink"}`}>{name}</span>
          <span className={problem ? "text-xs font-medium text-ember-deep" : "truncate text-xs text-muted"} title={description}>
            {detail}
          </span>
        </span>
        <input type="radio" name="music-track" value={id} checked={checked} disabled={disabled} onChange={onSelect} className="size-5 shrink-0 accent-ember" />
      </label>
      {onDelete && (
        <button type="button" onClick={onDelete} aria-label={`Delete ${name}`} className="flex size-11 shrink-0 items-center justify-center rounded-xl text-muted hover:bg-sand hover:text-ember-deep">
          <TrashIcon />
        </button>
      )}
    </div>
  );
}

interface SliderProps {
  id: string;
  label: string;
  min: number;
  max: number;
  step: number;
  value: number;
  display: string;
  onChange: (value: number) => void;
}

export function Slider({ id, label, min, max, step, value, display, onChange }: SliderProps) {
  return (
    <div className="flex flex-col gap-1.5">
      <div className="flex items-baseline justify-between text-sm">
        <label htmlFor={id} className="font-semibold text-ink">
          {label}
        </label>
        <span className="tabular-nums text-muted">{display}</span>
      </div>
      <input id={id} type="range" min={min} max={max} step={step} value={value} onChange={(event) => onChange(Number(event.target.value))} className="h-11 w-full accent-ember" />
    </div>
  );
}
