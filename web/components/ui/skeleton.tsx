/** A placeholder block shown while something loads; gently pulsing, hidden from screen readers. */
export function Skeleton({ className = "" }: { className?: string }) {
  return <div aria-hidden className={`animate-shimmer rounded-2xl bg-sand ${className}`} />;
}
