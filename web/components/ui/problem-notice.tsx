"use client";

import Link from "next/link";
import { useEffect, useState } from "react";

import type { ProblemMessage } from "@/lib/api/problems";

import { Notice } from "./notice";

function clockTime(epochMs: number): string {
  return new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" }).format(epochMs);
}

/**
 * An API problem as a person reads it: the sentence, the next step (buy credits, log in), and
 * for a rate limit, the time the wait is over.
 */
export function ProblemNotice({ problem, onRetry, className }: { problem: ProblemMessage | null; onRetry?: () => void; className?: string }) {
  const [now, setNow] = useState(() => Date.now());
  const waiting = problem?.retryAt != null && problem.retryAt > now;

  useEffect(() => {
    if (!problem?.retryAt) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [problem?.retryAt]);

  if (!problem) return null;
  return (
    <Notice tone="problem" className={className}>
      <p>{problem.message}</p>
      {waiting && problem.retryAt && <p className="mt-1 font-medium">You can try again at {clockTime(problem.retryAt)}.</p>}
      {(problem.action || (onRetry && problem.retryable)) && (
        <div className="mt-2 flex flex-wrap gap-x-4 gap-y-1">
          {problem.action && (
            <Link href={problem.action.href} className="font-semibold underline underline-offset-4">
              {problem.action.label}
            </Link>
          )}
          {onRetry && problem.retryable && (
            <button type="button" onClick={onRetry} className="font-semibold underline underline-offset-4">
              Try again
            </button>
          )}
        </div>
      )}
    </Notice>
  );
}
