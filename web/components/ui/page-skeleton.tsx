import { Skeleton } from "./skeleton";

/** Placeholders in the shape of a page while its data is on the way. */
export function PageSkeleton({ variant }: { variant: "dashboard" | "editor" | "credits" }) {
  return (
    <div className="flex flex-col gap-8 pb-12 pt-2 sm:pt-6" role="status" aria-busy="true" data-testid="page-skeleton">
      <span className="sr-only">Loading…</span>
      <Skeleton className="h-12 w-2/3 max-w-sm" />
      {variant === "dashboard" && (
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
          {[0, 1, 2].map((key) => (
            <Skeleton key={key} className="aspect-[4/3] w-full" />
          ))}
        </div>
      )}
      {variant === "editor" && (
        <div className="grid gap-8 lg:grid-cols-[minmax(0,1fr)_22rem]">
          <div className="flex flex-col gap-4">
            <Skeleton className="h-36 w-full" />
            <div className="grid grid-cols-2 gap-3 md:grid-cols-3">
              {[0, 1, 2].map((key) => (
                <Skeleton key={key} className="aspect-[3/4] w-full" />
              ))}
            </div>
          </div>
          <Skeleton className="h-72 w-full" />
        </div>
      )}
      {variant === "credits" && (
        <>
          <Skeleton className="h-32 w-full" />
          <div className="grid gap-4 sm:grid-cols-3">
            {[0, 1, 2].map((key) => (
              <Skeleton key={key} className="h-48 w-full" />
            ))}
          </div>
        </>
      )}
    </div>
  );
}
