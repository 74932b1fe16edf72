import { useQuery } from "@tanstack/react-query";
import { methodsQuery } from "../api/queries";
import type { MethodsPublic } from "../api/types";
import { catalogueOf, EMPTY_CATALOGUE, type MethodCatalogue } from "./catalogue";

// At module level so TanStack Query keeps the built catalogue until the answer changes.
const toCatalogue = (answer: MethodsPublic) => catalogueOf(answer.data);

/**
 * The method registry, for every component that shows a method (badges, charts, tables, summary, ROI,
 * launch form): one cached request for the whole app. Until it answers, methods show as their ids in grey.
 */
export function useMethods(): MethodCatalogue {
  const { data } = useQuery({ ...methodsQuery(), select: toCatalogue });
  return data ?? EMPTY_CATALOGUE;
}
