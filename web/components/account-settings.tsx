"use client";

import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";

import { Button } from "@/components/ui/button";
import { Notice } from "@/components/ui/notice";
import { ProblemNotice } from "@/components/ui/problem-notice";
import { api, request, resetClientState } from "@/lib/api/client";
import { ApiError, describeProblem, type ProblemMessage } from "@/lib/api/problems";
import type { SignedInSession } from "@/lib/api/types";
import { formatDateTime } from "@/lib/format";
import { forgetPrivateCaches } from "@/lib/offline-cache";

const WRONG_PASSWORD = "That password isn't right. Please type your current password.";

/** The problem to show, with the API's WRONG_PASSWORD put as a plain sentence. */
function passwordProblem(error: unknown): ProblemMessage {
  const problem = describeProblem(error);
  return error instanceof ApiError && error.code === "WRONG_PASSWORD" ? { ...problem, message: WRONG_PASSWORD, retryable: false } : problem;
}

/** After the account's sessions ended here: nothing of this person stays on the device. */
async function leaveDevice(to: string) {
  await forgetPrivateCaches().catch(() => undefined);
  resetClientState();
  window.location.assign(to);
}

/** The browsers signed in to the account: end one, or all of them (this one too). */
export function SessionsPanel({ initial }: { initial: SignedInSession[] }) {
  const [sessions, setSessions] = useState(initial);
  const [busy, setBusy] = useState<string | null>(null);
  const [problem, setProblem] = useState<ProblemMessage | null>(null);

  async function end(session: SignedInSession) {
    setBusy(session.id);
    setProblem(null);
    try {
      await request(() => api.DELETE("/api/auth/sessions/{session_id}", { params: { path: { session_id: session.id } } }));
      setSessions((current) => current.filter((candidate) => candidate.id !== session.id));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) setSessions((current) => current.filter((candidate) => candidate.id !== session.id));
      else setProblem(describeProblem(error));
    } finally {
      setBusy(null);
    }
  }

  async function endAll() {
    setBusy("all");
    setProblem(null);
    try {
      await request(() => api.POST("/api/auth/logout-all"));
    } catch (error) {
      setProblem(describeProblem(error));
      setBusy(null);
      return;
    }
    await leaveDevice("/login");
  }

  return (
    <div className="flex flex-col gap-4">
      <ul className="flex flex-col divide-y divide-line/70" aria-label="Signed-in browsers">
        {sessions.map((session) => (
          <li key={session.id} className="flex items-center gap-3 py-3">
            <div className="flex min-w-0 flex-1 flex-col">
              <span className="truncate text-base font-semibold text-ink">
                {session.device}
                {session.current && <span className="ml-2 rounded-full bg-moss-soft px-2 py-0.5 text-xs font-semibold text-moss">This browser</span>}
              </span>
              <span className="text-sm text-muted">
                Last active {formatDateTime(session.lastSeenAt)}
                {session.network ? ` · ${session.network}` : ""}
              </span>
            </div>
            {!session.current && (
              <Button variant="danger" size="sm" disabled={busy !== null} onClick={() => void end(session)} aria-label={`Log out ${session.device}, last active ${formatDateTime(session.lastSeenAt)}`}>
                {busy === session.id ? "Logging out…" : "Log out"}
              </Button>
            )}
          </li>
        ))}
      </ul>
      <ProblemNotice problem={problem} />
      <Button variant="danger" className="self-start" disabled={busy !== null} onClick={() => void endAll()}>
        {busy === "all" ? "Logging out…" : "Log out everywhere"}
      </Button>
    </div>
  );
}

function PasswordField({ id, label, autoComplete, minLength }: { id: string; label: string; autoComplete: string; minLength?: number }) {
  return (
    <div className="flex flex-col gap-1.5">
      <label htmlFor={id} className="text-sm font-semibold text-ink">
        {label}
      </label>
      <input
        id={id}
        name={id}
        type="password"
        required
        minLength={minLength}
        autoComplete={autoComplete}
        className="min-h-12 rounded-xl border border-line bg-paper px-4 text-base text-ink shadow-sm outline-none transition-colors focus:border-ember focus:ring-2 focus:ring-ember/20"
      />
    </div>
  );
}

/** Change the password; every other browser is logged out, this one stays. */
export function PasswordForm() {
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ProblemMessage | null>(null);
  const [done, setDone] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    setBusy(true);
    setProblem(null);
    setDone(false);
    try {
      await request(() =>
        api.POST("/api/me/password", { body: { currentPassword: String(data.get("current-password")), newPassword: String(data.get("new-password")) } }),
      );
      form.reset();
      setDone(true);
      router.refresh();
    } catch (error) {
      setProblem(passwordProblem(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="flex flex-col gap-4">
      <PasswordField id="current-password" label="Current password" autoComplete="current-password" />
      <PasswordField id="new-password" label="New password" autoComplete="new-password" minLength={10} />
      <ProblemNotice problem={problem} />
      {done && <Notice tone="success">Your password is changed. Every other browser has been logged out.</Notice>}
      <Button type="submit" className="self-start" disabled={busy}>
        {busy ? "Changing…" : "Change password"}
      </Button>
    </form>
  );
}

/** Delete the account, confirmed with the password. */
export function DeleteAccountForm() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ProblemMessage | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const password = String(new FormData(event.currentTarget).get("delete-password"));
    setBusy(true);
    setProblem(null);
    try {
      await request(() => api.DELETE("/api/me", { body: { password } }));
    } catch (error) {
      setProblem(passwordProblem(error));
      setBusy(false);
      return;
    }
    await leaveDevice("/");
  }

  return (
    <form onSubmit={submit} className="flex flex-col gap-4">
      <p className="text-base leading-relaxed text-muted">
        This deletes your account for good: your photos, clips, videos, music and every signed-in session. It can&apos;t be undone. Your purchases and credit history are kept, with nothing that names you, because we must keep them for accounting.
      </p>
      <PasswordField id="delete-password" label="Your password, to confirm" autoComplete="current-password" />
      <ProblemNotice problem={problem} />
      <Button type="submit" variant="danger" className="self-start" disabled={busy}>
        {busy ? "Deleting…" : "Delete my account"}
      </Button>
    </form>
  );
}
