interface ProgressBarProps {
  /** 0..1, or null for a wait whose length is unknown (shown as a pulsing sliver). */
  value: number | null;
  label: string;
  className?: string;
}

function percentOf(value: number): number {
  return Math.round(Math.min(Math.max(value, 0), 1) * 100);
}

export function ProgressBar({ value, label, className = "" }: ProgressBarProps) {
  const percent = value === null ? null : percentOf(value);
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent ?? undefined}
      className={`h-2 w-full overflow-hidden rounded-full bg-sand ${className}`}
    >
      <div
        className={["h-full rounded-full bg-ember transition-[width] duration-700 ease-out", percent === null ? "w-1/4 animate-pulse" : ""].join(" ")}
        style={percent === null ? undefined : { width: `${Math.max(percent, 2)}%` }}
      />
    </div>
  );
}

/** A bar with its label above and the percentage (when known) at the right. */
export function LabelledProgress({ label, value }: { label: string; value: number | null }) {
  return (
    <div className="flex flex-col gap-2">
      <div className="flex items-baseline justify-between gap-4 text-sm">
        <span className="font-medium text-ink">{label}…</span>
        {value !== null && <span className="tabular-nums text-muted">{percentOf(value)}%</span>}
      </div>
      <ProgressBar value={value} label={label} />
    </div>
  );
}
